// The synthetic fleet tree the scale benchmarks load (bench/repo-scale.ts,
// bench/diff-scale.ts): `top` top-level tags, each with `perTop` sub-tags
// (top × (1 + perTop) tag directories), hosts spread round-robin over the
// sub-tags, cross-cutting tags on two thirds of them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TreeShape {
  hosts: number;
  top: number;
  perTop: number;
}

/** A top-level tag's layer: its vars and a metrics container running `image`. */
export function envLayer(env: string, image: string): string {
  return `vars:\n  env: ${env}\ndefaults:\n  drift: correct\ncontainers:\n  metrics:\n    image: ${image}\n    command: ["httpd", "-f", "-p", "9100", "-h", "/www"]\n    network: host\n    labels: { env: "\${env}" }\n`;
}

/** Writes the tree under `root`; with `extras`, every tenth host also has a layer of its own (a file notifying its web container). */
export function generateFleetTree(root: string, shape: TreeShape, o: { extras: boolean }): { lastHost: string; tagDirs: number } {
  const write = (rel: string, text: string) => {
    const full = join(root, rel);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, text);
  };
  write('base.yaml', 'vars:\n  owner: ops\nfiles:\n  /etc/gitfleet-demo/motd:\n    content: "${host} (${tags}) ${owner}\\n"\n');
  for (const cross of ['gpu', 'monitoring', 'edge', 'canary', 'debug']) {
    write(`tags/${cross}/${cross}.yaml`, `units:\n  gitfleet-${cross}.service:\n    content: "[Service]\\nExecStart=/bin/sleep infinity\\n"\n    state: running\n`);
  }
  const leaves: string[] = [];
  for (let t = 0; t < shape.top; t++) {
    const top = `env-${t}`;
    write(`${top}/env.yaml`, envLayer(top, 'local/busybox:1'));
    for (let s = 0; s < shape.perTop; s++) {
      const leaf = `${top}/site-${s}`;
      leaves.push(leaf);
      write(`${leaf}/site.yaml`, `vars:\n  site: site-${s}\n  port: ${8000 + s}\ncontainers:\n  web:\n    image: local/busybox:1\n    command: ["httpd", "-f", "-p", "\${port}", "-h", "/www"]\n    network: host\n    env: { SITE: "\${site}", HOST: "\${host}" }\n    depends_on: [file//etc/gitfleet-demo/motd]\n`);
    }
  }
  let lastHost = '';
  for (let h = 0; h < shape.hosts; h++) {
    const id = `host-${String(h).padStart(5, '0')}`;
    const dir = `${leaves[h % leaves.length]}/${id}`;
    const cross = h % 3 === 0 ? 'tags: [monitoring]\n' : h % 3 === 1 ? 'tags: [gpu, edge]\n' : '';
    write(`${dir}/host.yaml`, `${cross}vars:\n  rack: r${h % 40}\n`);
    if (o.extras && h % 10 === 0) write(`${dir}/extra.yaml`, `files:\n  /srv/gitfleet-demo/${id}.txt:\n    content: "rack \${rack}\\n"\n    notify: [container/web]\n`);
    lastHost = id;
  }
  return { lastHost, tagDirs: shape.top * (1 + shape.perTop) };
}
