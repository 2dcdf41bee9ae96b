/**
 * pruning: masks with torch.nn.utils.prune's semantics, criteria × granularity ×
 * scope × schedule, lottery tickets and sparsity reports. Builds on engine/ and nn/.
 */
export type { Amount, NormalizedAmount } from './amount.js';
export { normalizeAmount, unitsToPrune, pythonRound } from './amount.js';
export { isPruned, getMask, remove, removeAll, prunedNames, applyMask, maskValues, effectiveValues, trainableParam } from './masked.js';
export { l1Unstructured, randomUnstructured } from './unstructured.js';
export type { UnstructuredOptions, RandomOptions } from './unstructured.js';
export { lnStructured, randomStructured } from './structured.js';
export type { NormOrder, StructuredOptions } from './structured.js';
export { globalUnstructured } from './global.js';
export type { GlobalMethod, GlobalUnstructuredOptions } from './global.js';
export { customFromMask, identity } from './custom.js';
export type { Scores } from './importance.js';
export { parseGranularity, granularityName, groupsFor, isNM, isStructured, view2d } from './granularity.js';
export type { Granularity, Grouping } from './granularity.js';
export { magnitude, random, bnScale, resolveCriterion } from './criteria.js';
export type { Criterion, GroupCombine } from './criteria.js';
export { GradientAccumulator } from './gradient.js';
export type { FeedOptions } from './gradient.js';
export { prunableLayers, headName, followingBatchNorm, selectTargets } from './target.js';
export type { PruneTarget, TargetSelection } from './target.js';
export { prune } from './prune.js';
export type { PruneOptions, PruneResult, LayerPruneResult, Scope, Normalization } from './prune.js';
export { oneShot, iterativeTargets, iterativePrune, agpSparsity, isAgpUpdateStep, GradualPruner } from './schedule.js';
export type { IterativeOptions, IterativeResult, AgpSchedule, GradualRecord } from './schedule.js';
export { LotteryTicket } from './lottery.js';
export type { LotteryOptions, LotteryResult, LotteryRound, Rewind, TrainContext } from './lottery.js';
export { sparsityReport } from './report.js';
export type { SparsityReport, SparsityRow, SparsityTotals } from './report.js';
export { buildDependencyGraph, DependencyGraph, InputShapeError, traceModel, UnsupportedLayerError } from './graph/index.js';
export type { ChannelGroup, GroupMember, Trace, TraceOp, TraceOptions } from './graph/index.js';
export { compact, compactWithPlan, planCompaction } from './compact.js';
export type { CompactOptions, CompactionPlan, CompactReportOptions, CompactSummary, LayerCompaction } from './compact.js';
export { loadModelCheckpointBytes } from './load.js';
export type { LoadedModel, LoadModelOptions } from './load.js';
