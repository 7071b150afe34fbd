/**
 * The allow-list of directories from Node-RED's settings (`padimAllowedPaths` in settings.js),
 * one PathPolicy per runtime. See src/node-support/path-policy.ts for what is checked.
 */
import { PathPolicy } from '../../src/node-support/path-policy';
import type { NodeAPI } from './red';
import { baseDir } from './util';

const policies = new WeakMap<object, PathPolicy | Error>();
const warned = new WeakSet<object>();

/**
 * The runtime's path policy. Unset, every path is allowed and the padim-model node (`warnUnset`)
 * logs a warning once: flows and files written before the setting existed keep working, and the
 * log says how to close it. Only one node type warns because Node-RED gives every node module its
 * own copy of RED.settings (so "once" is per module) and its own message catalogue.
 * A setting that is not a list of directories is an error every node using paths reports.
 */
export function pathPolicy(RED: NodeAPI, warnUnset = false): PathPolicy {
  let policy = policies.get(RED.settings);
  if (!policy) {
    try {
      policy = new PathPolicy(RED.settings.padimAllowedPaths, baseDir(RED));
    } catch (err) {
      policy = err as Error;
    }
    policies.set(RED.settings, policy);
  }
  if (policy instanceof Error) throw policy;
  if (warnUnset && !policy.restricted && !warned.has(RED.settings)) {
    warned.add(RED.settings);
    RED.log?.warn(RED._('padim-model.warnings.noAllowList'));
  }
  return policy;
}

/** A checker for paths of one kind ("image file", "model file"), for imageFromPayload and the like. */
export function pathChecker(RED: NodeAPI, what: string): (p: string) => string {
  return (p) => pathPolicy(RED).check(p, what);
}
