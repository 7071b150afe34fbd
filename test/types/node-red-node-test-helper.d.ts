/** The parts of node-red-node-test-helper the node tests use (the package ships no types). */
declare module 'node-red-node-test-helper' {
  import type { EventEmitter } from 'node:events';

  type NodeModule = (RED: any) => void | Promise<void>;

  interface TestNode extends EventEmitter {
    id: string;
    type: string;
    receive(msg: Record<string, unknown>): void;
    status: ((status: object) => void) & { getCalls?: unknown };
    [property: string]: unknown;
  }

  interface Helper {
    init(nodeRedRuntime: string, settings?: Record<string, unknown>): void;
    settings(settings: Record<string, unknown>): Record<string, unknown>;
    load(nodes: NodeModule | NodeModule[], flow: object[], credentials?: object): Promise<void>;
    setFlows(flow: object[], type?: 'full' | 'flows' | 'nodes', credentials?: object): Promise<void>;
    unload(): Promise<void>;
    getNode(id: string): TestNode;
    /** the spy on RED.log.log: args[i][0] is the logged event, WARN its level for warnings */
    log(): { args: { level: number; id?: string; type?: string; msg?: unknown }[][]; WARN: number };
    clearFlows(): Promise<void>;
    request(): {
      post(url: string): { expect(status: number): Promise<{ body: unknown }> };
      get(url: string): { expect(status: number): Promise<{ body: unknown }> };
    };
    startServer(): Promise<void>;
    stopServer(): Promise<void>;
  }

  const helper: Helper;
  export = helper;
}
