// Waits for a container engine's API (Docker or Podman's compatible one) to
// answer on its socket, for harnesses that start an engine of their own.
import Dockerode from 'dockerode';

export async function untilEngineAnswers(socketPath: string, what: string, timeoutMs = 20_000): Promise<void> {
  const docker = new Dockerode({ socketPath });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await docker.ping();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${what} did not answer on ${socketPath}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
