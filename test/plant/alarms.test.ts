/**
 * Example 3 (inspect and raise MQTT alarms) in a real Node-RED (test helper) with the core
 * mqtt out node, against a real Mosquitto, checked by an independent MQTT client (mqtt.js):
 * every alarm valid against the schema, in order, none lost at QoS 1 for a burst of 500 even
 * when the broker is stopped and started again in the middle of it, the retained last result
 * (schemas/result.schema.json, every image OK or NG),
 * and the MQTT 5 user properties.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { assertValidAlarm, type Alarm } from '../../src/node-support/alarm';
import { assertValidResult, type InspectionResult } from '../../src/result/result';
import { tempDir } from '../helpers';
import { ALL_NODES, helper, waitFor } from '../nodes/fixtures';
import {
  core,
  patchedExample,
  writeSmallModel,
  type FlowNode,
  type SmallModel,
} from '../support/example-flows';
import { Mosquitto, requireMosquitto } from '../support/mosquitto';

const EXAMPLE = '3-inspect-and-raise-mqtt-alarms.json';
const TOPIC = 'factory/line-A/station-1/inspection';

interface Received {
  topic: string;
  /** the JSON payload: an alarm on the event topic, a result on .../last */
  alarm: Alarm;
  userProperties: Record<string, unknown>;
  retain: boolean;
}

/** What a function node keeps in its context (the 'hold while offline' node's state). */
function contextOf(id: string): { get(key: string): unknown } {
  return (helper.getNode(id) as unknown as { context(): { get(key: string): unknown } }).context();
}

/** An MQTT 5 subscriber with a persistent session, so the broker keeps its messages across a restart. */
async function subscriber(
  url: string,
  clientId: string,
  topic: string,
  got: Received[],
  protocolVersion: 4 | 5 = 5,
): Promise<MqttClient> {
  const options: IClientOptions = {
    protocolVersion,
    clientId,
    clean: false,
    ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 600 } } : {}),
    reconnectPeriod: 200,
  };
  const client = await mqtt.connectAsync(url, options);
  client.on('message', (t, payload, packet) => {
    got.push({
      topic: t,
      alarm: JSON.parse(payload.toString('utf8')) as Alarm,
      userProperties: (packet.properties?.userProperties ?? {}) as Record<string, unknown>,
      retain: packet.retain,
    });
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return client;
}

describe('MQTT alarms through a real Mosquitto (example 3)', function () {
  this.timeout(120_000);
  let broker: Mosquitto;
  let userDir: string;
  let model: SmallModel;
  const clients: MqttClient[] = [];
  const modules = [
    ...ALL_NODES,
    core('network/10-mqtt.js'),
    core('common/25-status.js'),
    core('common/24-complete.js'),
    core('common/90-comment.js'),
    core('function/10-function.js'),
    core('function/10-switch.js'),
    core('function/15-change.js'),
  ];

  before(async function () {
    const exe = requireMosquitto(this);
    broker = await Mosquitto.start(exe);
    userDir = tempDir('padim-mqtt-');
    model = await writeSmallModel(path.join(userDir, 'padim-demo', 'line1.padim'));
    // reconnect quickly after the broker restart (Node-RED's default is 5 s)
    helper.settings({ userDir, mqttReconnectTime: 300 });
  });
  afterEach(async () => {
    await helper.unload();
    while (clients.length) await clients.pop()!.endAsync(true);
  });
  after(async () => {
    helper.settings({});
    await broker?.close();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  /** Example 3 pointed at the test broker; the camera folder node is set up by `camera`. */
  async function loadExample(camera: Partial<FlowNode>, threshold: Partial<FlowNode> = {}) {
    const flow = patchedExample(EXAMPLE, (n) => {
      if (n.type === 'mqtt-broker') Object.assign(n, { broker: '127.0.0.1', port: String(broker.port) });
      if (n.type === 'padim-image-source') Object.assign(n, camera);
      if (n.type === 'padim-threshold') Object.assign(n, threshold);
    });
    await helper.load(modules, flow);
    await waitFor(
      () => contextOf('padim.mqtt.hold').get('connected') === true,
      10_000,
      'the MQTT connection',
    );
  }

  it('publishes valid alarms for defective images, with user properties, and a retained last result', async () => {
    const got: Received[] = [];
    clients.push(await subscriber(broker.url, 'padim-test-images', `${TOPIC}/#`, got));
    clients.push(await subscriber(broker.url, 'padim-test-images-ev', TOPIC, []));
    const dir = tempDir('padim-camera-');
    try {
      // good images then defective ones; debounce 1: every NG image raises an alarm
      const files = [...model.good, ...model.defect];
      files.forEach((f, i) => fs.copyFileSync(f, path.join(dir, `${String(i).padStart(3, '0')}.png`)));
      await loadExample({ folder: dir, start: 'deploy' }, { debounce: 1 });
      const events = () => got.filter((r) => r.topic === TOPIC);
      await waitFor(
        () => events().length > 0 && got.some((r) => r.topic === `${TOPIC}/last`),
        30_000,
        'alarms',
      );
      // let the rest of the folder go through: a result for every image, then the last alarms
      const lastTopic = `${TOPIC}/last`;
      await waitFor(
        () => got.filter((r) => r.topic === lastTopic).length >= files.length,
        30_000,
        'a result for every image',
      );
      await new Promise((r) => setTimeout(r, 1000));
      const ev = events();
      assert.ok(ev.length >= 1 && ev.length <= files.length, `${ev.length} alarms`);
      for (const r of ev) {
        assertValidAlarm(r.alarm);
        assert.equal(r.alarm.station, 'station-1');
        assert.equal(r.alarm.line, 'line-A');
        assert.ok(r.alarm.score >= r.alarm.threshold, 'an alarm is for an NG score');
        assert.match(String(r.alarm.image), /\d{3}\.png$/);
        assert.equal(r.userProperties.schema, 'padim-alarm/1');
        assert.equal(r.userProperties.station, 'station-1');
        assert.match(String(r.userProperties.modelId), /^[0-9a-f]{12}$/);
        assert.equal(r.userProperties.modelId, r.alarm.modelId);
      }
      // most defective images are found by the small model
      assert.ok(
        ev.length >= model.defect.length / 2,
        `${ev.length} alarms for ${model.defect.length} defects`,
      );
      // every image, OK or NG, published its result on .../last, in the folder's order
      const results = got
        .filter((r) => r.topic === lastTopic)
        .map((r) => r.alarm as unknown as InspectionResult);
      assert.equal(results.length, files.length, 'a result for every image');
      for (const r of results) assertValidResult(r);
      assert.deepEqual(
        results.map((r) => path.basename(String(r.image))),
        files.map((_, i) => `${String(i).padStart(3, '0')}.png`),
      );
      assert.ok(results.some((r) => r.decision === 'OK') && results.some((r) => r.decision === 'NG'));
      assert.equal(
        results.filter((r) => r.alarm).length,
        ev.length,
        'alarm flag on as many results as alarms',
      );
      // a client connecting now gets the station's last result at once, flagged retained
      const late: Received[] = [];
      clients.push(await subscriber(broker.url, 'padim-test-late', `${TOPIC}/last`, late));
      await waitFor(() => late.length > 0, 5000, 'the retained result');
      assert.equal(late[0].retain, true);
      assert.equal(late[0].userProperties.schema, 'padim-result/1');
      assert.deepEqual(late[0].alarm, results[results.length - 1]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('500 alarms at QoS 1 with a broker restart in the middle: all delivered, in order', async () => {
    const got: Received[] = [];
    clients.push(await subscriber(broker.url, 'padim-test-burst', TOPIC, got));
    await loadExample({ start: 'input' });
    const threshold = helper.getNode('padim.mqtt.threshold');
    const hold = contextOf('padim.mqtt.hold');
    // debounce 2 (the example's setting): 501 NG scores in a row raise 500 alarms, consecutive 2..501
    const ng = (i: number) => ({
      payload: { score: 20 + i / 1000, normalizedScore: 2, threshold: 10 },
      filename: `${i}.png`,
    });
    let sent = 0;
    const send = (n: number) => {
      for (const end = sent + n; sent < end; sent++) threshold.receive(ng(sent));
    };
    send(200);
    await waitFor(() => got.length >= 100, 20_000, 'the first alarms');
    await broker.stop();
    send(150); // produced while the broker is down
    await waitFor(() => hold.get('connected') === false, 10_000, 'the disconnection seen');
    // the 350 results and 349 alarms so far reached the outbox
    await waitFor(() => (hold.get('seq') as number) >= 350 + 349, 10_000, 'the alarms raised while down');
    const heldWhileDown = (hold.get('held') as unknown[]).length;
    assert.ok(heldWhileDown > 0, 'alarms were raised while the broker was down');
    await broker.resume();
    send(151);
    const seq = (r: Received) => r.alarm.consecutive;
    const expected = 500;
    await waitFor(() => new Set(got.map(seq)).size >= expected, 60_000, `${expected} alarms`).catch(
      (err: Error) => {
        const have = new Set(got.map(seq));
        const missing = [...Array(expected).keys()].map((i) => i + 2).filter((c) => !have.has(c));
        throw new Error(`${err.message}: ${missing.length} lost (${missing.slice(0, 10).join(', ')} ...)`);
      },
    );
    for (const r of got) assertValidAlarm(r.alarm);
    const seen = got.map(seq);
    const unique = [...new Set(seen)];
    assert.deepEqual(
      unique,
      [...Array(expected).keys()].map((i) => i + 2),
      'every alarm once, in the order raised',
    );
    const duplicates = seen.length - unique.length;
    console.log(
      `      (burst: ${expected} alarms delivered, ${heldWhileDown} messages held while the broker was down, ` +
        `${duplicates} QoS-1 duplicates, 0 lost)`,
    );
  });
});
