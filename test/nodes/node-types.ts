/** The node types this package must register: the list the tests hold the package to. */
export const NODE_TYPES = [
  'padim-model',
  'padim-image-source',
  'padim-fit',
  'padim-score',
  'padim-threshold',
  'padim-heatmap',
  'padim-archive',
  'padim-review',
];
