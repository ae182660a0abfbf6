/** The shape of one `nestbox` command module (app/cli/commands/<verb>.ts, default export). */
export type OptionValue = string | boolean | (string | boolean)[] | undefined;

export interface CommandContext {
  values: Record<string, OptionValue>;
  positionals: string[];
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean | string[] | boolean[];
}

export interface CommandModule {
  /** Text after `nestbox <verb> ` in usage lines, e.g. "NAME [--cpu N] [--memory MB]". */
  usage: string;
  options: Record<string, OptionSpec>;
  /** [min, max] positional arguments. */
  positionals?: [number, number];
  run(ctx: CommandContext): Promise<number | void>;
}

export function defineCommand(m: CommandModule): CommandModule {
  return m;
}
