/**
 * The demo's embedded MQTT broker (scripts/embedded-broker.js, aedes): an independent MQTT
 * client publishes and receives through it, retained messages included, and it closes cleanly.
 * aedes speaks MQTT 3.1.1 (not 5), so the demo connects with 3.1.1 to it.
 */
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { freePort } from '../support/mosquitto';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const embedded = require('../../../scripts/embedded-broker.js') as {
  isListening(host: string, port: number): Promise<boolean>;
  startEmbeddedBroker(o: { host?: string; port?: number }): Promise<{ port: number; close(): Promise<void> }>;
};

describe('embedded MQTT broker of npm start (aedes)', function () {
  it('carries QoS 1 and retained messages between clients, and closes', async () => {
    const port = await freePort();
    assert.equal(await embedded.isListening('127.0.0.1', port), false);
    const broker = await embedded.startEmbeddedBroker({ port });
    assert.equal(await embedded.isListening('127.0.0.1', port), true);
    const url = `mqtt://127.0.0.1:${port}`;
    const pub = await mqtt.connectAsync(url, { protocolVersion: 4 });
    await pub.publishAsync('factory/line-A/station-1/inspection/last', '{"score":3}', {
      qos: 1,
      retain: true,
    });
    const sub = await mqtt.connectAsync(url, { protocolVersion: 4 });
    const got: { topic: string; payload: string; retain: boolean }[] = [];
    sub.on('message', (topic, payload, packet) =>
      got.push({ topic, payload: payload.toString(), retain: packet.retain }),
    );
    await sub.subscribeAsync('factory/#', { qos: 1 });
    await pub.publishAsync('factory/line-A/station-1/inspection', '{"score":4}', { qos: 1 });
    const end = Date.now() + 5000;
    while (got.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, [
      { topic: 'factory/line-A/station-1/inspection/last', payload: '{"score":3}', retain: true },
      { topic: 'factory/line-A/station-1/inspection', payload: '{"score":4}', retain: false },
    ]);
    await pub.endAsync();
    await sub.endAsync();
    await broker.close();
    assert.equal(await embedded.isListening('127.0.0.1', port), false);
  });
});
