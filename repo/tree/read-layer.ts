// Reads and parses the files of one directory into a layer.
import { IO_PARALLELISM, mapLimit } from './concurrency.ts';
import { composeFileRole } from '../compose/compose-file.ts';
import { readComposeLayerFile } from '../compose/read-compose.ts';
import type { LayerKeys } from '../secrets/encrypted-layer.ts';
import { isEncryptedLayerFile } from '../secrets/encrypted-name.ts';
import type { ValidationIssue } from './issues.ts';
import { issue, wholeFile } from './issues.ts';
import type { Layer } from './layer.ts';
import { buildLayer } from './layer.ts';
import type { LayerFile } from './layer-file.ts';
import { parseLayerFile } from './layer-file.ts';
import type { DirListing, FleetTree } from './tree-fs.ts';
import { HOST_FILE, readTreeFile, relJoin } from './tree-fs.ts';

async function readLayerFile(tree: FleetTree, file: string, kind: 'resources' | 'host', viaSymlink: boolean, keys: LayerKeys): Promise<LayerFile> {
  const read = await readTreeFile(tree, file, viaSymlink);
  if ('issue' in read) return { file, issues: [read.issue], vars: [], drift: null, entries: [], host: null };
  if (kind === 'resources' && isEncryptedLayerFile(file)) {
    // Loaded on first use: the SOPS and age code costs an agent several MiB it
    // need not carry while its tree has no encrypted file.
    const { readEncryptedLayer } = await import('../secrets/encrypted-layer.ts');
    const layer = await readEncryptedLayer(file, read.text, keys);
    if ('code' in layer) return { file, issues: [issue(file, wholeFile, layer.code, layer.message)], vars: [], drift: null, entries: [], host: null };
    return { ...parseLayerFile(file, layer.text, kind, layer.opaque), secrets: layer.secrets };
  }
  const composeRole = kind === 'resources' ? composeFileRole(file.slice(file.lastIndexOf('/') + 1)) : null;
  if (composeRole !== null) return readComposeLayerFile(tree, file, read.text, composeRole);
  return parseLayerFile(file, read.text, kind);
}

/** The layer of a listed directory; `asHost` reads its host.yaml too. */
export async function readLayer(tree: FleetTree, listing: DirListing, asHost: boolean, extraIssues: ValidationIssue[] = [], keys?: LayerKeys): Promise<Layer> {
  const names = asHost && listing.hasHostFile ? [HOST_FILE, ...listing.yamlFiles] : listing.yamlFiles;
  const parsed = await mapLimit(names, IO_PARALLELISM, (name) =>
    readLayerFile(tree, relJoin(listing.dir, name), name === HOST_FILE ? 'host' : 'resources', listing.symlinks.has(name), keys),
  );
  const layer = buildLayer(listing.dir, parsed);
  layer.issues.unshift(...extraIssues);
  return layer;
}
