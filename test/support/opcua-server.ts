/**
 * A real OPC UA server (node-opcua, in this process) with the variables example 4 writes:
 * ns=1;s=PadimNG Boolean, PadimScore Double, PadimOkCount and PadimNgCount UInt32,
 * PadimLastImage String. It can be shut down and started again on the same port (the
 * "server down" test), keeping its certificate folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataType, OPCUACertificateManager, OPCUAServer, type UAVariable } from 'node-opcua';
import { tempDir } from '../helpers';

/** The example's variables and their OPC UA data types. */
export const RESULT_VARIABLES = {
  PadimNG: DataType.Boolean,
  PadimScore: DataType.Double,
  PadimOkCount: DataType.UInt32,
  PadimNgCount: DataType.UInt32,
  PadimLastImage: DataType.String,
} as const;

export type ResultVariable = keyof typeof RESULT_VARIABLES;

const INITIAL: Record<ResultVariable, unknown> = {
  PadimNG: false,
  PadimScore: 0,
  PadimOkCount: 0,
  PadimNgCount: 0,
  PadimLastImage: '',
};

export class ResultServer {
  private server?: OPCUAServer;
  private variables = new Map<ResultVariable, UAVariable>();
  readonly pki = tempDir('padim-opcua-pki-');

  constructor(readonly port: number) {}

  get endpoint(): string {
    return `opc.tcp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = new OPCUAServer({
      port: this.port,
      hostname: '127.0.0.1',
      allowAnonymous: true,
      serverCertificateManager: new OPCUACertificateManager({
        rootFolder: path.join(this.pki, 'server'),
        automaticallyAcceptUnknownCertificate: true,
      }),
    });
    await server.initialize();
    const addressSpace = server.engine.addressSpace!;
    const ns = addressSpace.getOwnNamespace();
    for (const [name, dataType] of Object.entries(RESULT_VARIABLES) as [ResultVariable, DataType][]) {
      const v = ns.addVariable({
        organizedBy: addressSpace.rootFolder.objects,
        browseName: name,
        nodeId: `s=${name}`,
        dataType,
        accessLevel: 'CurrentRead | CurrentWrite',
        userAccessLevel: 'CurrentRead | CurrentWrite',
      });
      v.setValueFromSource({ dataType, value: INITIAL[name] });
      this.variables.set(name, v);
    }
    await server.start();
    this.server = server;
  }

  /** The variable's current value and its data type. */
  read(name: ResultVariable): { value: unknown; dataType: DataType } {
    const dv = this.variables.get(name)!.readValue();
    return { value: dv.value.value, dataType: dv.value.dataType };
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await server.shutdown(0);
  }

  async close(): Promise<void> {
    await this.stop();
    fs.rmSync(this.pki, { recursive: true, force: true });
  }
}
