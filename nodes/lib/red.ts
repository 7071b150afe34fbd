/**
 * The small part of Node-RED's runtime API these nodes use, typed.
 *
 * Node-RED ships no TypeScript types (and @types/node-red pulls in Express's); writing down the
 * few calls used here keeps the nodes strictly typed and shows a newcomer exactly what of
 * Node-RED the package depends on. See https://nodered.org/docs/creating-nodes/
 */

/** A message travelling through a flow. */
export interface NodeMessage {
  _msgid?: string;
  topic?: string;
  payload?: unknown;
  [property: string]: unknown;
}

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

/** send() of the input handler: one message, or one per output (null for none). */
export type SendFunction = (msg: NodeMessage | (NodeMessage | NodeMessage[] | null)[]) => void;
/** done() of the input handler: with an error, the error goes to Catch nodes. */
export type DoneFunction = (err?: Error) => void;

/** A node instance, as RED.nodes.createNode leaves it. */
export interface Node {
  readonly id: string;
  readonly type: string;
  readonly z?: string;
  name?: string;
  on(event: 'input', handler: (msg: NodeMessage, send: SendFunction, done: DoneFunction) => void): void;
  /** with a callback parameter, Node-RED waits for it (up to 15 s) before the next deploy */
  on(event: 'close', handler: (removed: boolean, done: () => void) => void): void;
  status(status: NodeStatus | Record<string, never>): void;
  send(msg: NodeMessage | (NodeMessage | null)[]): void;
  /** logs; with a message, the error also goes to Catch nodes */
  error(err: unknown, msg?: NodeMessage): void;
  warn(message: unknown): void;
  log(message: unknown): void;
}

/** The node's configuration as saved by the editor (`defaults` of the .html). */
export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
  [property: string]: unknown;
}

/** Just enough of an Express router for the admin endpoints. */
interface Request {
  params: Record<string, string>;
  query: Record<string, unknown>;
}
interface Response {
  sendStatus(code: number): void;
  status(code: number): Response;
  send(body: unknown): void;
  json(body: unknown): void;
}
export type Handler = (req: Request, res: Response, next: () => void) => void;

export interface NodeAPI {
  nodes: {
    createNode(node: object, def: NodeDef): void;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    registerType(type: string, constructor: (this: any, def: any) => void, options?: object): void;
    getNode(id: string): unknown;
  };
  /** translated text of a message catalogue key (locales/<lang>/<node>.json) */
  _(key: string, substitutions?: Record<string, unknown>): string;
  settings: { userDir?: string; [name: string]: unknown };
  /** the runtime's log (the console and any logging set up in settings.js) */
  log?: { warn(message: unknown): void };
  util: {
    /** sets msg.a.b.c from the property text 'a.b.c' */
    setMessageProperty(msg: NodeMessage, property: string, value: unknown, createMissing?: boolean): boolean;
    /** reads msg.a.b.c from the property text 'a.b.c' (undefined when absent) */
    getMessageProperty(msg: NodeMessage, property: string): unknown;
  };
  /** messages to the editors (what the debug sidebar and status use) */
  comms: { publish(topic: string, data: unknown, retain?: boolean): void };
  httpAdmin?: {
    post(path: string, ...handlers: Handler[]): void;
    get(path: string, ...handlers: Handler[]): void;
  };
  auth?: { needsPermission(permission: string): Handler };
}
