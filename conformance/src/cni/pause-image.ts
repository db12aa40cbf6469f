/**
 * A sandbox ("pause") image for containerd's CRI, built offline from busybox-static: one layer with /bin/busybox and
 * /bin/sh, whose entrypoint waits until SIGTERM/SIGINT. Written as an OCI image layout tarball that `ctr images
 * import` takes (no registry, no pull).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execChecked } from '../harness/index.js';

export const pauseImageName = 'berth.test/pause:1';

/** Waits for a signal as the pause process does; PID 1 ignores SIGTERM unless it traps it. */
const pauseEntrypoint = ['/bin/sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait; done'];

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes `data` as a blob of the layout and returns its descriptor fields. */
function blob(layout: string, data: Buffer | string): { digest: string; size: number } {
  const digest = sha256(data);
  writeFileSync(join(layout, 'blobs', 'sha256', digest), data);
  return { digest: `sha256:${digest}`, size: Buffer.byteLength(data) };
}

/** Builds the image tarball in `dir` and returns its path. */
export async function buildPauseImage(dir: string, busybox = '/bin/busybox'): Promise<string> {
  const rootfs = join(dir, 'rootfs');
  const layout = join(dir, 'layout');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  copyFileSync(busybox, join(rootfs, 'bin', 'busybox'));
  symlinkSync('busybox', join(rootfs, 'bin', 'sh'));
  const layerTar = join(dir, 'layer.tar');
  await execChecked(['tar', '--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', layerTar, 'bin']);
  const layerData = readFileSync(layerTar);
  const layer = blob(layout, layerData);
  const config = blob(layout, JSON.stringify({
    architecture: 'amd64', os: 'linux', config: { Entrypoint: pauseEntrypoint },
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
  }));
  const manifest = blob(layout, JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  }));
  writeFileSync(join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, platform: { architecture: 'amd64', os: 'linux' },
      annotations: { 'io.containerd.image.name': pauseImageName, 'org.opencontainers.image.ref.name': '1' },
    }],
  }));
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const image = join(dir, 'pause.tar');
  await execChecked(['tar', '-C', layout, '-cf', image, 'oci-layout', 'index.json', 'blobs']);
  return image;
}
