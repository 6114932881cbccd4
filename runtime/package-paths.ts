/**
 * Paths that hold both in a clone run by tsx (modules end in .ts) and in the compiled package
 * (dist/**.js): hard-coded `.ts` names would not exist once compiled.
 */
const compiled = !import.meta.url.endsWith('.ts');

/** A module beside `base` (an `import.meta.url`), given without extension: `.ts` from source, `.js` from dist. */
export function siblingModule(relative: string, base: string): URL {
  return new URL(`${relative}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);
}

/** The package's root: the folder of package.json, above dist/ when compiled. */
export const PACKAGE_ROOT = new URL(compiled ? '../../' : '../', import.meta.url);

/** A file the package ships outside its code (pipelines/, infra/local/), relative to its root. */
export function packageFile(relative: string): URL {
  return new URL(relative, PACKAGE_ROOT);
}
