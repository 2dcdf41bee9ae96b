/**
 * The study's configuration: defaults, method parsing, the cross product of methods × scopes ×
 * schedules, presets, the runs planned (N:M and per-layer methods once per seed), and every
 * refusal naming its flag. No device.
 */
import { describe, expect, it } from 'vitest';
import { methodLabel, parseMethod, resolveStudy, StudyInputError } from '../study/config.js';
import { SHIPPED_CHECKPOINTS } from '../study/defaults.js';
import { PRESETS } from '../study/presets.js';
import { planRuns } from '../study/run.js';

function refused(options: Parameters<typeof resolveStudy>[0]): StudyInputError {
  try {
    resolveStudy(options);
  } catch (e) {
    expect(e).toBeInstanceOf(StudyInputError);
    return e as StudyInputError;
  }
  throw new Error(`accepted: ${JSON.stringify(options)}`);
}

describe('resolveStudy', () => {
  it('defaults: LeNet-5 from the shipped checkpoint, random vs L1 unstructured vs L1 filter at 3 sparsities, 5 formats, batch 1 and 256', () => {
    const { config, checkpointPath } = resolveStudy({});
    expect(config.model).toBe('lenet5');
    expect(checkpointPath).toBe(SHIPPED_CHECKPOINTS.get('lenet5'));
    expect(config.checkpoint).toBe(checkpointPath);
    expect(config.data).toBe('mnist');
    expect(config.methods.map((m) => m.label)).toEqual(['random weight', 'l1 weight', 'l1 filter']);
    expect(config.methods.every((m) => m.schedule === 'oneshot' && m.scope === 'local' && m.finetuneEpochs === 1)).toBe(true);
    expect(config.sparsities).toEqual([0.5, 0.75, 0.9]);
    expect(config.formats).toEqual(['dense', 'masked', 'csr', 'bsr', 'compacted']);
    expect(config.batches).toEqual([1, 256]);
    expect(config.trainEpochs).toBe(0);
    expect(planRuns(config)).toHaveLength(9);
  });

  it('parses criterion:granularity, the prune command\'s method names, blocks and N:M', () => {
    expect(parseMethod('l1:weight')).toEqual({ criterion: 'l1', granularity: 'weight' });
    expect(parseMethod('L2:Filter')).toEqual({ criterion: 'l2', granularity: 'filter' });
    expect(parseMethod('l1:4x4')).toEqual({ criterion: 'l1', granularity: '4x4' });
    expect(parseMethod('l1:2:4')).toEqual({ criterion: 'l1', granularity: '2:4' });
    expect(parseMethod('l1-structured')).toEqual({ criterion: 'l1', granularity: 'filter' });
    expect(parseMethod('random-unstructured')).toEqual({ criterion: 'random', granularity: 'weight' });
    expect(methodLabel({ criterion: 'taylor', granularity: 'weight', scope: 'global', schedule: 'iterative', rounds: 3, finetuneEpochs: 1 })).toBe('taylor weight global iterative×3');
  });

  it('crosses methods with scopes and schedules; N:M (local only: a per-group pattern) runs once per seed at 1 − N/M', () => {
    const { config } = resolveStudy({ methods: 'l1:weight,l2:2:4', scope: 'local,global', schedule: 'oneshot,agp', sparsities: '0.3,0.6', seeds: '0,1' });
    expect(config.methods.map((m) => m.label)).toEqual([
      'l1 weight', 'l1 weight agp', 'l1 weight global', 'l1 weight global agp',
      'l2 2:4', 'l2 2:4 agp',
    ]);
    expect(config.methods.find((m) => m.label === 'l1 weight agp')).toMatchObject({ rounds: 10, finetuneEpochs: 2 });
    const runs = planRuns(config);
    // 4 L1 methods × 2 sparsities × 2 seeds + 2 N:M methods × 1 × 2 seeds.
    expect(runs).toHaveLength(16 + 4);
    expect(runs.filter((r) => r.method.granularity === '2:4').every((r) => r.sparsity === 0.5)).toBe(true);
  });

  it('a checkpoint path keeps --arch for the file check; an explicit --train-epochs trains instead of loading', () => {
    expect(resolveStudy({ model: 'my.safetensors', arch: 'lenet300' }).config).toMatchObject({ model: 'lenet300', checkpoint: 'my.safetensors' });
    expect(resolveStudy({ model: 'lenet5', trainEpochs: 2 }).config).toMatchObject({ checkpoint: null, trainEpochs: 2 });
    expect(resolveStudy({ model: 'conv4' }).config).toMatchObject({ data: 'synthetic-cifar', checkpoint: null });
    expect(resolveStudy({ trainLimit: 'all', testLimit: '500' }).config).toMatchObject({ trainLimit: null, testLimit: 500 });
  });

  it('every preset resolves, and flags override it', () => {
    for (const name of PRESETS.keys()) {
      const { config } = resolveStudy({ preset: name });
      expect(config.preset).toBe(name);
      expect(planRuns(config).length).toBeGreaterThan(0);
    }
    const { config } = resolveStudy({ preset: 'lenet5-notes', sparsities: '0.5', finetuneEpochs: 1 });
    expect(config.sparsities).toEqual([0.5]);
    expect(config.methods.every((m) => m.schedule === 'iterative' && m.rounds === 3 && m.finetuneEpochs === 1)).toBe(true);
    const cnn2 = resolveStudy({ preset: 'mnist-cnn2-filters' }).config;
    // The notes' configuration (6 and 2 filters) runs once per seed, besides the uniform sparsities.
    expect(planRuns(cnn2).filter((r) => r.method.perLayer)).toHaveLength(2);
  });

  it('an ONNX file: the path is the model, nothing trained; --runtime adds ONNX Runtime next to wgprune', () => {
    const { config, checkpointPath } = resolveStudy({ model: 'models/my-net.onnx', methods: 'l1:filter', schedule: 'oneshot,iterative,agp' });
    expect(config).toMatchObject({ model: 'models/my-net.onnx', checkpoint: null, trainEpochs: 0, runtimes: ['wgprune'] });
    expect(checkpointPath).toBeNull();
    expect(resolveStudy({}).config.runtimes).toEqual(['wgprune']);
    for (const runtime of ['onnxruntime', 'wgprune,onnxruntime', 'onnxruntime,wgprune', ['wgprune', 'onnxruntime']]) {
      expect(resolveStudy({ runtime }).config.runtimes).toEqual(['wgprune', 'onnxruntime']);
    }
    expect(resolveStudy({ model: 'x.onnx', data: 'synthetic' }).config.data).toBe('synthetic');
  });

  it('refuses what an ONNX model cannot do, and a bad --runtime, naming the flag', () => {
    // The lottery schedules rewind to initial values: an ONNX file only holds trained ones.
    for (const schedule of ['lottery', 'lottery-reinit', 'oneshot,lottery']) {
      const e = refused({ model: 'net.onnx', schedule });
      expect(e.option).toBe('--schedule');
      expect(e.message).toMatch(/initial values.*ONNX/);
      expect(e.exitCode).toBe(2);
    }
    expect(refused({ model: 'net.onnx', preset: 'lottery' }).option).toBe('--schedule');
    expect(resolveStudy({ model: 'lenet300', schedule: 'lottery' }).config.methods[0]!.schedule).toBe('lottery');
    const arch = refused({ model: 'net.ONNX', arch: 'lenet5' });
    expect(arch.option).toBe('--arch');
    expect(arch.message).toMatch(/ONNX file holds its own architecture/);
    expect(refused({ model: 'net.onnx', trainEpochs: 2 }).option).toBe('--train-epochs');
    expect(refused({ runtime: 'tensorrt' }).message).toMatch(/--runtime: unknown value 'tensorrt' \(expected wgprune, onnxruntime\)/);
    expect(refused({ runtime: '' }).option).toBe('--runtime');
    expect(refused({ runtime: ',' }).option).toBe('--runtime');
    expect(refused({ runtime: 'onnxruntime,onnxruntime' }).message).toMatch(/listed twice/);
    expect(refused({ data: 'imagenet' }).option).toBe('--data');
  });

  it('refuses bad input naming the flag', () => {
    expect(refused({ model: 'resnet50' }).option).toBe('--model');
    expect(refused({ model: 'x.safetensors', arch: 'vgg' }).option).toBe('--arch');
    expect(refused({ model: 'lenet5', arch: 'lenet300' }).option).toBe('--arch');
    expect(refused({ methods: 'l1' }).option).toBe('--methods');
    expect(refused({ methods: 'magic:weight' }).message).toMatch(/unknown criterion 'magic'/);
    expect(refused({ methods: 'l1:3x' }).message).toMatch(/granularity/);
    expect(refused({ methods: 'l1:weight,l1-unstructured' }).message).toMatch(/listed twice/);
    expect(refused({ formats: 'dense,coo' }).option).toBe('--formats');
    expect(refused({ preset: 'nope' }).option).toBe('--preset');
    for (const s of ['1', '-0.1', '1.5', 'abc', '']) expect(refused({ sparsities: s }).option).toBe('--sparsities');
    expect(refused({ batches: '0' }).option).toBe('--batches');
    expect(refused({ batches: '2.5' }).option).toBe('--batches');
    expect(refused({ seeds: '-1' }).option).toBe('--seeds');
    expect(refused({ scope: 'everywhere' }).option).toBe('--scope');
    expect(refused({ schedule: 'weekly' }).option).toBe('--schedule');
    expect(refused({ schedule: 'agp', finetuneEpochs: 0 }).option).toBe('--finetune-epochs');
    expect(refused({ model: 'conv4', data: 'mnist' }).option).toBe('--data');
    expect(refused({ trainLimit: '0' }).option).toBe('--train-limit');
    expect(refused({ bsrBlock: '4' }).option).toBe('--bsr-block');
    expect(refused({ reps: '0' }).option).toBe('--reps');
    expect(refused({ lr: '-1' }).option).toBe('--lr');
    expect(refused({ sparsities: '0.5' , methods: 'l1:weight', optimizer: 'lbfgs' }).option).toBe('--optimizer');
    expect(refused({ model: 'resnet50' }).exitCode).toBe(2);
  });
});
