/**
 * The decision archive: every decision as a JSON line, with the NG parts' images and heatmaps,
 * in a folder that never grows beyond its disk budget (oldest decisions dropped first).
 */
export { ArchiveBudget, RecordTooLargeError, type BudgetPlan, type SegmentUsage } from './budget';
export { measureFolder, treeBytes, type ArchiveRecord } from './layout';
export { findDecisions, scanArchive, MAX_LINE_BYTES, type ArchiveScan, type FoundDecision } from './reader';
export { DecisionArchive, type ArchiveFile, type ArchiveOptions, type ArchiveUsage } from './writer';
