/**
 * TF.js's LeNet-5 training step, the peer of ours in the training benchmark:
 * the same architecture (conv6@5×5 pad 2 → ReLU → maxpool 2 → conv16@5×5 → ReLU →
 * maxpool 2 → fc120 → fc84 → fc10), SGD with momentum, softmax cross-entropy,
 * written with tfjs-core ops (NHWC, as TF.js prefers).
 */
import type * as tfType from '@tensorflow/tfjs-core';

export interface TfjsLenet5 {
  /** One optimizer step on a batch; resolves after the loss is read back (a device sync). */
  step(x: Float32Array, labels: Int32Array): Promise<number>;
  dispose(): void;
}

export function tfjsLenet5(tf: typeof tfType, batch: number, lr = 0.05, momentum = 0.9): TfjsLenet5 {
  const glorot = (shape: number[], fanIn: number) => tf.variable(tf.randomUniform(shape, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn), 'float32', 1));
  const w = {
    c1: glorot([5, 5, 1, 6], 25), b1: tf.variable(tf.zeros([6])),
    c2: glorot([5, 5, 6, 16], 150), b2: tf.variable(tf.zeros([16])),
    f1: glorot([400, 120], 400), fb1: tf.variable(tf.zeros([120])),
    f2: glorot([120, 84], 120), fb2: tf.variable(tf.zeros([84])),
    f3: glorot([84, 10], 84), fb3: tf.variable(tf.zeros([10])),
  };
  const optimizer = tf.train.momentum(lr, momentum);
  const forward = (x: tfType.Tensor4D) => {
    let h = tf.relu(tf.add(tf.conv2d(x, w.c1 as tfType.Tensor4D, 1, [[0, 0], [2, 2], [2, 2], [0, 0]]), w.b1)) as tfType.Tensor4D;
    h = tf.maxPool(h, 2, 2, 'valid');
    h = tf.relu(tf.add(tf.conv2d(h, w.c2 as tfType.Tensor4D, 1, 'valid'), w.b2)) as tfType.Tensor4D;
    h = tf.maxPool(h, 2, 2, 'valid');
    // Flatten in NCHW order so the layer is the same as ours (the order does not change the cost).
    const flat = tf.reshape(tf.transpose(h, [0, 3, 1, 2]), [batch, 400]);
    const a1 = tf.relu(tf.add(tf.matMul(flat, w.f1 as tfType.Tensor2D), w.fb1));
    const a2 = tf.relu(tf.add(tf.matMul(a1, w.f2 as tfType.Tensor2D), w.fb2));
    return tf.add(tf.matMul(a2, w.f3 as tfType.Tensor2D), w.fb3);
  };
  return {
    async step(x, labels) {
      const loss = tf.tidy(() => {
        // Our batches are NCHW with one channel, which is the same memory as NHWC.
        const input = tf.tensor4d(x, [batch, 28, 28, 1]);
        // One-hot targets built on the host, as our crossEntropy does.
        const hot = new Float32Array(batch * 10);
        labels.forEach((c, i) => (hot[i * 10 + c] = 1));
        const onehot = tf.tensor2d(hot, [batch, 10]);
        return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(onehot, forward(input)) as tfType.Scalar, true)!;
      });
      const value = (await loss.data())[0]!;
      loss.dispose();
      return value;
    },
    dispose() {
      optimizer.dispose();
      for (const v of Object.values(w)) v.dispose();
    },
  };
}
