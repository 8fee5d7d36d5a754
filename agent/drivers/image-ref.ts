// One spelling per image reference, as the engine resolves it, so two
// references to the same image compare equal (adoption, the memory driver).

/** `busybox` → `busybox:latest`; `docker.io/library/x` → `x`. */
export function normalizeImageRef(ref: string): string {
  let r = ref.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
  const lastSlash = r.lastIndexOf('/');
  if (!r.includes('@') && !r.slice(lastSlash + 1).includes(':')) r += ':latest';
  return r;
}
