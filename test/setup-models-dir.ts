/**
 * Mocha root setup: tests never see the user's ~/.padim/models. PADIM_MODELS_DIR points at an
 * empty folder unless the run sets it (child processes inherit it).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

if (!process.env.PADIM_MODELS_DIR) {
  process.env.PADIM_MODELS_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'padim-models-empty-'));
}
