/**
 * An MQTT broker inside the demo process (aedes, in memory), so that the MQTT example of
 * `npm start` works with nothing installed. For the demo only: it keeps nothing on disk and has
 * no authentication. In a plant, point the flow's broker configuration at Mosquitto, EMQX or
 * HiveMQ instead.
 */
'use strict';

const net = require('node:net');

/** Resolves true when something accepts TCP connections on host:port. */
function isListening(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, host, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/**
 * Starts aedes on host:port. Resolves to { host, port, close() }; rejects when the port cannot
 * be listened on.
 */
async function startEmbeddedBroker({ host = '127.0.0.1', port = 1883 } = {}) {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return {
    host,
    port: address.port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => broker.close(() => resolve()));
      }),
  };
}

module.exports = { isListening, startEmbeddedBroker };
