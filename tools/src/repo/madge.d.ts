// The part of madge's API the structure spec uses (the package ships no types).
declare module 'madge' {
  interface MadgeResult {
    /** Each file and the files it imports, paths relative to baseDir. */
    obj(): Record<string, string[]>;
    /** Every import cycle, as the files along it. */
    circular(): string[][];
  }
  interface MadgeConfig {
    baseDir?: string;
    fileExtensions?: string[];
    tsConfig?: string | object;
    detectiveOptions?: Record<string, Record<string, unknown>>;
  }
  function madge(path: string | string[], config?: MadgeConfig): Promise<MadgeResult>;
  export default madge;
}
