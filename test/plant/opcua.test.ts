/**
 * Example 4 (write results to OPC UA) in a real Node-RED (test helper) with the real
 * node-red-contrib-opcua nodes, against a real OPC UA server (node-opcua, in this process):
 * values and their data types after good and defective images, a type mismatch reported as a
 * catchable error (not a crash), and the server going down and coming back.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataType } from 'node-opcua';
import { tempDir } from '../helpers';
import { ALL_NODES, collect, helper, recordStatus, waitFor } from '../nodes/fixtures';
import {
  core,
  patchedExample,
  writeSmallModel,
  type FlowNode,
  type SmallModel,
} from '../support/example-flows';
import { freePort } from '../support/mosquitto';
import { ResultServer } from '../support/opcua-server';

const EXAMPLE = '4-write-results-to-opc-ua.json';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const contrib = (file: string) => require(`node-red-contrib-opcua/opcua/${file}`);

type Msg = Record<string, unknown>;

describe('OPC UA results through node-red-contrib-opcua to a real server (example 4)', function () {
  this.timeout(120_000);
  let server: ResultServer;
  let userDir: string;
  let model: SmallModel;
  const modules = [
    ...ALL_NODES,
    core('common/21-debug.js'),
    core('common/90-comment.js'),
    core('function/10-function.js'),
    core('function/15-change.js'),
    contrib('101-opcuaitem.js'),
    contrib('102-opcuaclient.js'),
    contrib('105-opcuaendpoint.js'),
  ];

  before(async () => {
    server = new ResultServer(await freePort());
    await server.start();
    userDir = tempDir('padim-opcua-');
    model = await writeSmallModel(path.join(userDir, 'padim-demo', 'line1.padim'));
    helper.settings({ userDir });
  });
  afterEach(async () => {
    // node-red-contrib-opcua 0.2.354's client node does not disconnect its OPC UA client on
    // close (an inverted check in its close handler), so the client would retry for ever once
    // the server is gone: disconnect it here
    const node = helper.getNode('padim.opcua.client') as unknown as {
      client?: { disconnect(): Promise<void> };
    } | null;
    const client = node?.client;
    await helper.unload();
    await client?.disconnect();
  });
  after(async () => {
    helper.settings({});
    await server?.close();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  /** Example 4 pointed at the test server; checked writes go to `written`, errors to `caught`. */
  async function loadExample(patch: (n: FlowNode) => void = () => {}) {
    const flow = patchedExample(EXAMPLE, (n) => {
      if (n.type === 'OpcUa-Endpoint') n.endpoint = server.endpoint;
      if (n.type === 'OpcUa-Client') n.folderName4PKI = path.join(userDir, 'client-pki');
      if (n.type === 'padim-image-source') n.start = 'input';
      if (n.id === 'padim.opcua.check') n.wires = [['padim.opcua.client'], ['written']];
      patch(n);
    });
    // (x and y: on a tab, Node-RED takes a node without a position for a configuration node)
    const at = { z: flow[0].id, x: 0, y: 0 };
    flow.push(
      { id: 'written', type: 'helper', ...at },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']], ...at },
      { id: 'caught', type: 'helper', ...at },
    );
    await helper.load(modules, flow);
    const client = helper.getNode('padim.opcua.client');
    const clientStatus = recordStatus(client as never);
    const checkStatus = recordStatus(helper.getNode('padim.opcua.check') as never);
    const caught: Msg[] = [];
    helper.getNode('caught').on('input', (m: Msg) => caught.push(m));
    return { clientStatus, checkStatus, caught };
  }

  const inspect = (file: string) =>
    helper
      .getNode('padim.opcua.score')
      .receive({ payload: fs.readFileSync(file), filename: path.basename(file) });

  /** Inspects `file` and resolves with the five checked writes. */
  async function inspectAndWrite(file: string, ms = 30_000) {
    const got = collect(helper.getNode('written'), 5, ms);
    inspect(file);
    return got;
  }

  it('writes NG, score, counters and the last image with the variables’ data types', async () => {
    await loadExample();
    await inspectAndWrite(model.good[0]);
    assert.deepEqual(server.read('PadimNG'), { value: false, dataType: DataType.Boolean });
    assert.deepEqual(server.read('PadimOkCount'), { value: 1, dataType: DataType.UInt32 });
    assert.deepEqual(server.read('PadimNgCount'), { value: 0, dataType: DataType.UInt32 });
    assert.deepEqual(server.read('PadimLastImage'), {
      value: path.basename(model.good[0]),
      dataType: DataType.String,
    });
    const good = server.read('PadimScore');
    assert.equal(good.dataType, DataType.Double);
    assert.ok((good.value as number) > 0);

    // the defective images: at least one NG, counters add up, the score of the last one
    let ng = 0;
    for (const file of model.defect) {
      const writes = await inspectAndWrite(file);
      if (server.read('PadimNG').value === true) ng++;
      assert.equal(writes.length, 5);
    }
    assert.ok(ng >= 1, 'a defective image was written as NG');
    const ok = server.read('PadimOkCount').value as number;
    assert.equal(ok + (server.read('PadimNgCount').value as number), 1 + model.defect.length);
    assert.equal(server.read('PadimNgCount').value, ng);
    assert.equal(server.read('PadimLastImage').value, path.basename(model.defect[model.defect.length - 1]));
  });

  it('type mismatches are clear, catchable errors, and the other variables are still written', async () => {
    const { checkStatus, caught } = await loadExample((n) => {
      // the flow says Float where the server's PadimScore is a Double (a PLC variable of another type)
      if (n.id === 'padim.opcua.itemPadimScore') n.datatype = 'Float';
      // and String for a counter: the value (a number) is not sent, where the client would throw
      if (n.id === 'padim.opcua.itemPadimOkCount') n.datatype = 'String';
    });
    const okCountBefore = server.read('PadimOkCount');
    const written = collect(helper.getNode('written'), 3);
    inspect(model.good[1]);
    await waitFor(() => caught.length >= 2, 30_000, 'the errors');
    const errors = caught.map((m) => (m.error as { message: string }).message).sort();
    assert.match(errors[0], /ns=1;s=PadimOkCount \(String\) not sent: the value 1 is not a String/);
    assert.match(errors[1], /ns=1;s=PadimScore \(Float\) refused: BadTypeMismatch/);
    assert.match(errors[1], /not of the variable's data type/);
    assert.ok(checkStatus.some((s) => s.fill === 'red' && /BadTypeMismatch/.test(String(s.text))));
    const others = (await written).map((m) => m.topic).sort();
    assert.deepEqual(others, ['ns=1;s=PadimLastImage', 'ns=1;s=PadimNG', 'ns=1;s=PadimNgCount']);
    assert.equal(server.read('PadimScore').dataType, DataType.Double, 'the server kept its type');
    assert.deepEqual(server.read('PadimOkCount'), okCountBefore, 'the counter was not written');
  });

  it('server down: a clear status and a catchable error; writes resume when it is back', async () => {
    const { checkStatus, clientStatus, caught } = await loadExample();
    await inspectAndWrite(model.good[0]);
    await server.stop();
    inspect(model.good[1]);
    await waitFor(() => caught.length >= 5, 30_000, 'the errors of the five writes');
    for (const m of caught)
      assert.match((m.error as { message: string }).message, /got no answer within 5 s/);
    assert.ok(checkStatus.some((s) => s.fill === 'red' && s.text === 'no answer'));
    assert.ok(clientStatus.length > 0);

    await server.start();
    // inspect until a round of writes gets through (the client reconnects with a back-off)
    const end = Date.now() + 60_000;
    let through = false;
    while (!through && Date.now() < end) {
      through = await inspectAndWrite(model.good[2], 4000).then(
        () => true,
        () => false,
      );
    }
    assert.ok(through, 'writes got through after the server came back');
    assert.equal(server.read('PadimLastImage').value, path.basename(model.good[2]));
  });
});
