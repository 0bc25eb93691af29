/**
 * Loaded with `--import` after tsx in a child process: registers {@link ./import-hooks.ts}, which appends
 * every module the process resolves to the file named by RECORD_IMPORTS_TO, one `specifier<TAB>url` per
 * line. Tests read it to see which packages a process loaded.
 */
import { register } from 'node:module';

register('./import-hooks.ts', import.meta.url, { data: { file: process.env.RECORD_IMPORTS_TO } });
