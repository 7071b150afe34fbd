/**
 * The allow-list of directories from Node-RED's settings (`padimAllowedPaths` in settings.js),
 * one PathPolicy per runtime. See src/node-support/path-policy.ts for what is checked.
 */
import { PathPolicy } from '../../src/node-support/path-policy';
import type { NodeAPI } from './red';
import { baseDir } from './util';

const policies = new WeakMap<object, PathPolicy | Error>();

/**
 * The runtime's path policy. Unset, every path is allowed and a warning is logged once: flows
 * and files written before the setting existed keep working, and the log says how to close it.
 * A setting that is not a list of directories is an error every node using paths reports.
 */
export function pathPolicy(RED: NodeAPI): PathPolicy {
  let policy = policies.get(RED.settings);
  if (!policy) {
    try {
      policy = new PathPolicy(RED.settings.padimAllowedPaths, baseDir(RED));
      if (!policy.restricted) RED.log?.warn(RED._('padim-model.warnings.noAllowList'));
    } catch (err) {
      policy = err as Error;
    }
    policies.set(RED.settings, policy);
  }
  if (policy instanceof Error) throw policy;
  return policy;
}

/** A checker for paths of one kind ("image file", "model file"), for imageFromPayload and the like. */
export function pathChecker(RED: NodeAPI, what: string): (p: string) => string {
  return (p) => pathPolicy(RED).check(p, what);
}
