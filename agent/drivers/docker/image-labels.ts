// The engine reports a container's labels merged with its image's: a real image
// carries its own (maintainer, version, org.opencontainers.*). Those are the
// image's, not what the container was created with, so they are neither
// desired state nor drift: a label the container holds with the image's value
// is left out of what the driver reports. The agent's ownership labels are
// always the container's own (create sets them and they win over the image's),
// so they are kept even when an image happens to carry the same value.
import { containerLabels } from '../types.ts';

const ownership = new Set<string>(Object.values(containerLabels));

export function withoutImageLabels(labels: Record<string, string>, imageLabels: Record<string, string>): Record<string, string> {
  const own: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) {
    if (!ownership.has(key) && imageLabels[key] === value) continue;
    own[key] = value;
  }
  return own;
}

/** Image labels by image id (ids are content hashes: an id's labels never change). Bounded. */
export class ImageLabelCache {
  readonly #byId = new Map<string, Record<string, string>>();
  constructor(private readonly max = 512) {}

  get(id: string): Record<string, string> | undefined {
    return this.#byId.get(id);
  }

  put(id: string, labels: Record<string, string>): void {
    if (this.#byId.size >= this.max) this.#byId.clear();
    this.#byId.set(id, labels);
  }
}
