/**
 * Download progress on stderr for hub ids: one line when a file starts downloading, then every
 * 10 percent of the whole model (`progress_total`), and nothing for files read from the cache.
 */
import type { ProgressCallback } from '../../loaders/byte_source';
import type { CliIO } from './command';

/** A ProgressCallback that reports downloads to `io.stderr`. */
export function downloadProgress(io: CliIO): ProgressCallback {
  let lastTenth = -1;
  return (p) => {
    if (p.status === 'download') io.stderr(`downloading ${p.name ?? ''}/${p.file}\n`);
    else if (p.status === 'progress_total' && p.total > 0) {
      const tenth = Math.floor(p.progress / 10);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        io.stderr(`  ${p.progress.toFixed(0)}% (${(p.loaded / 1048576).toFixed(1)} of ${(p.total / 1048576).toFixed(1)} MiB)\n`);
      }
    }
  };
}
