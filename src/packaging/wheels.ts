import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** A vendored distribution and the wheel tags it was installed from (from its .dist-info). */
export interface VendoredWheel {
  name: string;
  version: string;
  tags: string[];
}

/** Reads name, version and wheel tags of every distribution installed with `pip --target dir`. */
export async function listVendoredWheels(dir: string): Promise<VendoredWheel[]> {
  if (!existsSync(dir)) return [];
  const wheels: VendoredWheel[] = [];
  for (const entry of (await readdir(dir)).sort()) {
    if (!entry.endsWith('.dist-info')) continue;
    const info = path.join(dir, entry);
    const metadata = await readFile(path.join(info, 'METADATA'), 'utf8').catch(() => '');
    const wheel = await readFile(path.join(info, 'WHEEL'), 'utf8').catch(() => '');
    const field = (text: string, key: string) => [...text.matchAll(new RegExp(`^${key}: (.+)$`, 'gm'))].map((m) => m[1]!.trim());
    wheels.push({
      name: field(metadata, 'Name')[0] ?? entry.replace(/-[^-]+\.dist-info$/, ''),
      version: field(metadata, 'Version')[0] ?? '',
      tags: field(wheel, 'Tag'),
    });
  }
  return wheels;
}
