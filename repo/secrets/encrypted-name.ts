// Which layer files are SOPS-encrypted, by name alone: the loader asks this of
// every file, and must not load the SOPS and age code (encrypted-layer.ts) for
// a tree that has no encrypted file.
export const ENCRYPTED_SUFFIX = '.sops.yaml';

export function isEncryptedLayerFile(name: string): boolean {
  return name.endsWith(ENCRYPTED_SUFFIX);
}
