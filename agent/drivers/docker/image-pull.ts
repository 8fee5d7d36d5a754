// Image presence per pull policy. The engine reports some pull failures as an
// HTTP error and others as an {"error"} line inside a 200 stream; both end up
// as one message here. A pull that failed only because no registry answered is
// told apart from one the registry refused, because `pull: always` may fall
// back to a local copy in the first case and must not in the second.
import type Dockerode from 'dockerode';
import { GitfleetError } from '../../../shared/errors.ts';
import { isSocketFailure, statusOf, translateEngineError } from './engine-errors.ts';
import { NdjsonSplitter } from './ndjson.ts';

export type PullPolicy = 'always' | 'missing' | 'never';

const unreachableRegistry = /dial tcp|no such host|connection refused|i\/o timeout|network is unreachable|TLS handshake timeout|Client\.Timeout|server misbehaving|connection reset|no route to host|EOF$/i;

export function isRegistryUnreachable(message: string): boolean {
  return unreachableRegistry.test(message);
}

export async function localImageId(docker: Dockerode, image: string, socketPath: string): Promise<string | null> {
  try {
    const info = (await docker.getImage(image).inspect()) as { Id: string };
    return info.Id;
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw translateEngineError(error, `inspect image ${image}`, socketPath);
  }
}

/** Pulls `image`; resolves when the pull finished, rejects with the engine's reason as a plain message. */
async function pull(docker: Dockerode, image: string): Promise<void> {
  const stream = (await docker.pull(image)) as NodeJS.ReadableStream;
  await new Promise<void>((resolve, reject) => {
    let failure: string | null = null;
    const splitter = new NdjsonSplitter(
      (value) => {
        const line = value as { error?: unknown; errorDetail?: { message?: unknown } };
        if (typeof line.error === 'string') failure = line.error;
        else if (typeof line.errorDetail?.message === 'string') failure = line.errorDetail.message;
      },
      () => {},
    );
    stream.on('data', (chunk: Buffer) => splitter.push(chunk));
    stream.on('error', reject);
    stream.on('end', () => {
      splitter.end();
      if (failure !== null) reject(new Error(failure));
      else resolve();
    });
  });
}

export async function ensureImage(docker: Dockerode, image: string, policy: PullPolicy, socketPath: string): Promise<string> {
  const local = policy === 'always' ? null : await localImageId(docker, image, socketPath);
  if (local !== null) return local;
  if (policy === 'never') {
    throw new GitfleetError('IMAGE_NOT_FOUND', `image ${image} is not present locally and pull: never forbids pulling it`);
  }
  let reason: string;
  try {
    await pull(docker, image);
    const pulled = await localImageId(docker, image, socketPath);
    if (pulled !== null) return pulled;
    reason = 'the pull finished but the image is still not present';
  } catch (error) {
    if (isSocketFailure(error)) throw translateEngineError(error, `pull image ${image}`, socketPath);
    const translated = translateEngineError(error, `pull image ${image}`, socketPath);
    reason = translated.message.replace(/^cannot pull image \S+: /, '');
    if (policy === 'always' && isRegistryUnreachable(reason)) {
      const fallback = await localImageId(docker, image, socketPath);
      if (fallback !== null) return fallback;
      throw new GitfleetError('IMAGE_NOT_FOUND', `image ${image} could not be pulled (no registry reachable: ${reason}) and is not present locally`, { cause: error });
    }
    if (policy === 'always') {
      throw new GitfleetError('IMAGE_NOT_FOUND', `image ${image} could not be pulled (the registry answered: ${reason}); pull: always does not fall back to a local copy unless the registry is unreachable`, { cause: error });
    }
  }
  throw new GitfleetError('IMAGE_NOT_FOUND', `image ${image} is not present locally and could not be pulled: ${reason}`);
}
