/**
 * What test/support/trinoGlobalSetup.ts provides to the test files as `inject('trino')`: the local
 * Trino it started (or found running), or why the Trino suites are skipped on this machine.
 */
export interface TestTrino {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** The Hive catalog over warehouseDir: `local:///x/y` in Trino is `<warehouseDir>/x/y` on disk. */
  catalog: string;
  warehouseDir: string;
}

export type ProvidedTrino = TestTrino | { skip: string };

declare module 'vitest' {
  export interface ProvidedContext {
    trino: ProvidedTrino;
  }
}
