/**
 * Packages a function needs at run time but that esbuild must not bundle (native bindings,
 * packages that read their own files: @duckdb/*, @sparticuz/chromium, fonts). They are copied,
 * with their production dependencies, from the project's node_modules into the function's
 * node_modules: the exact versions the tests ran with, and no network or npm at synth time.
 *
 * (NodejsFunction's `nodeModules` would run `npm ci` on a package.json holding only these
 * packages; npm refuses that against the project's lock file, and it needs the registry.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export class ShippedModuleError extends Error {
  override name = 'ShippedModuleError';
}

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/**
 * The packages to copy: `roots` and, recursively, their dependencies as installed (hoisted) in
 * `<rootDir>/node_modules`. A missing required package fails synth with the fix; a missing
 * optional one (another platform's binary) is skipped.
 */
export function dependencyClosure(rootDir: string, roots: string[]): string[] {
  const nm = join(rootDir, 'node_modules');
  const seen = new Set<string>();
  const queue: { name: string; optional: boolean; from: string }[] = roots.map((name) => ({ name, optional: false, from: 'the function' }));
  while (queue.length) {
    const { name, optional, from } = queue.shift()!;
    if (seen.has(name)) continue;
    const dir = join(nm, name);
    if (!existsSync(join(dir, 'package.json'))) {
      if (optional) continue;
      throw new ShippedModuleError(
        `package ${name} (needed by ${from}) is not installed in node_modules; run npm ci` +
          (name.includes('linux-x64') ? ` on linux/x64, or add it for Lambda's platform: npm install --no-save --os=linux --cpu=x64 ${name}` : ''),
      );
    }
    seen.add(name);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
    const add = (deps: Record<string, string> | undefined, isOptional: boolean) => {
      for (const dep of Object.keys(deps ?? {})) {
        // A dependency nested under the package's own node_modules travels with it.
        if (!existsSync(join(dir, 'node_modules', dep))) queue.push({ name: dep, optional: isOptional, from: name });
      }
    };
    add(pkg.dependencies, false);
    add(pkg.optionalDependencies, true);
  }
  return [...seen].sort();
}

/** Shell commands that copy the closure into `<outputDir>/node_modules`. */
export function copyModulesCommands(inputDir: string, outputDir: string, packages: string[]): string[] {
  return packages.map((p) => {
    const dest = `${outputDir}/node_modules/${p}`;
    return `mkdir -p "${dest}" && cp -R "${inputDir}/node_modules/${p}/." "${dest}/"`;
  });
}
