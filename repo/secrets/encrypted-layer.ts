// A `*.sops.yaml` layer file turned into an ordinary layer file's text: with
// the host's age identity, decrypted (MAC verified) and its plaintext values
// reported as secrets; without any key (validate, the hub, render without
// --identity), structure-checked and every encrypted value replaced by the
// «secret» placeholder, so the layer still declares its resources and vars.
import { isMap, isScalar, isSeq } from 'yaml';
import { GitfleetError, type ErrorCode } from '../../shared/errors.ts';
import { MASK } from '../../shared/secrets/mask.ts';
import type { AgeIdentity } from './age-key.ts';
import { decryptWithKey, dataKeyOf, isEncryptedValue, parseSops } from './sops.ts';

export { ENCRYPTED_SUFFIX, isEncryptedLayerFile } from './encrypted-name.ts';

/**
 * How a loader treats encrypted files: `undefined` reads them without a key
 * (placeholders); `null` means decryption is required and no key is there (the
 * file is refused with SECRET_NO_KEY); an identity decrypts.
 */
export type LayerKeys = AgeIdentity | null | undefined;

export type EncryptedLayer = { text: string; secrets: string[]; opaque: boolean } | { code: ErrorCode; message: string };

export async function readEncryptedLayer(file: string, text: string, keys: LayerKeys): Promise<EncryptedLayer> {
  try {
    const parsed = parseSops(file, text);
    if (keys === null) {
      return { code: 'SECRET_NO_KEY', message: `${file} is encrypted and this host has no age identity (agent config age.identityFile; docs/secrets.md)` };
    }
    if (keys === undefined) {
      placeholders(parsed.doc.contents);
      (parsed.doc.contents as { delete(key: string): boolean }).delete('sops');
      return { text: parsed.doc.toString({ lineWidth: 0 }), secrets: [], opaque: true };
    }
    const key = await dataKeyOf(parsed, keys.native ?? keys.identities, keys.recipients);
    const { doc, secrets } = decryptWithKey(parsed, key);
    return { text: doc.toString({ lineWidth: 0 }), secrets, opaque: false };
  } catch (error) {
    if (error instanceof GitfleetError) return { code: error.code, message: error.message };
    // An unexpected failure must not quote anything from the file.
    return { code: 'SECRET_FORMAT', message: `${file}: cannot be read as a SOPS file (unexpected structure)` };
  }
}

function placeholders(node: unknown): void {
  if (isMap(node)) for (const pair of node.items) placeholders(pair.value);
  else if (isSeq(node)) for (const item of node.items) placeholders(item);
  else if (isScalar(node) && isEncryptedValue(node.value)) node.value = MASK;
}
