/**
 * Child process for the kill -9 tests: saves a copy of a model (a new creation time, so a
 * completed write is visible) over `target` with saveModel, the code the fit node and
 * `padim fit` use. Run with `-r save-interrupter.js` to stop at a chosen point of the write.
 *
 *   node -r save-interrupter.js model-writer-child.js <source model> <target>
 */
import { loadModel, saveModel } from '../../src/model/model-file';

async function main(): Promise<void> {
  const [source, target] = process.argv.slice(2);
  const model = await loadModel(source);
  model.header.createdAt = new Date().toISOString();
  await saveModel(target, model);
}

main().catch((err) => {
  process.stderr.write(`model-writer-child: ${(err as Error).stack}\n`);
  process.exit(1);
});
