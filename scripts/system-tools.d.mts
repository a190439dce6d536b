export interface SystemTool {
  name: string;
  apt: string;
  usedBy: string;
  env?: string;
}
export const SYSTEM_TOOLS: SystemTool[];
export const DEBIAN_DIRS: string[];
export function findTool(name: string, env?: Record<string, string | undefined>): string | undefined;
export function pathWithDebianDirs(path?: string): string;
export function installCommand(tools: SystemTool[], options?: { root?: boolean }): string;
export function ensureSystemTools(options?: {
  tools?: SystemTool[];
  find?: (name: string) => string | undefined;
  isRoot?: boolean;
  hasApt?: boolean;
  run?: (cmd: string, args: string[]) => number | null;
  log?: (line: string) => void;
}): { missing: SystemTool[]; lines: string[] };
