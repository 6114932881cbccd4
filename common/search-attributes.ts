import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes an operator filters runs by in the Web UI
 * (e.g. `SpokeflowDataset = "shop.orders"`). The local stack and the test
 * servers register exactly these; docker-compose users register them once.
 */
export const SearchAttr = {
  dataset: defineSearchAttributeKey('SpokeflowDataset', SearchAttributeType.KEYWORD),
  team: defineSearchAttributeKey('SpokeflowTeam', SearchAttributeType.KEYWORD),
  kind: defineSearchAttributeKey('SpokeflowKind', SearchAttributeType.KEYWORD),
  partition: defineSearchAttributeKey('SpokeflowPartition', SearchAttributeType.KEYWORD),
  outcome: defineSearchAttributeKey('SpokeflowOutcome', SearchAttributeType.KEYWORD),
  rows: defineSearchAttributeKey('SpokeflowRows', SearchAttributeType.INT),
} as const;

export const ALL_SEARCH_ATTRIBUTES = Object.values(SearchAttr);

/** The values of SpokeflowOutcome: `partial` when a run finished but left some items undone. */
export type RunOutcome = 'succeeded' | 'partial' | 'failed' | 'cancelled';
