export function localNodeHeaders(execPath?: string, version?: string): string | undefined;
export function withNodeHeaders<E extends Record<string, string | undefined>>(env?: E): E & { npm_config_nodedir?: string };
