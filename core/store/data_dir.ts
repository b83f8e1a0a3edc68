/**
 * Permissions of the data folder. It holds the SQLite database (sealed agent seeds included) and
 * possibly the generated keystore passphrase: anyone who can read both can decrypt the keys. So
 * the conductor creates the folder 0700 and every file in it 0600, whatever the umask: the
 * database file is created 0600 before SQLite opens it, and SQLite gives the `-wal` and `-shm`
 * files it creates later the mode of the database file. A folder or file that already exists
 * keeps its mode (it may be shared on purpose), but each start and `conductor verify` warn about
 * one that others can read or write, naming the fix.
 *
 * It does not open the database; `store.ts` does.
 *
 * @module
 */
import * as path from "node:path"

/** Mode of the data folder and of folders the conductor creates for it. */
export const PRIVATE_DIR_MODE = 0o700
/** Mode of every file the conductor creates in the data folder. */
export const PRIVATE_FILE_MODE = 0o600

const POSIX = Deno.build.os !== "windows"

/** Creates `dir` (and missing parents) with mode 0700; an existing folder is left as it is. */
export function makePrivateDir(dir: string): void {
  Deno.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE })
}

/**
 * Creates an empty `file` with mode 0600 unless it exists. Called before SQLite opens a new
 * database so that the file (and the `-wal` / `-shm` files SQLite later creates with its mode)
 * is private from the start.
 */
export function createPrivateFile(file: string): void {
  try {
    Deno.openSync(file, { write: true, createNew: true, mode: PRIVATE_FILE_MODE }).close()
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error
    return
  }
  // `mode` is filtered by the umask, which can only remove bits; set it exactly anyway.
  if (POSIX) Deno.chmodSync(file, PRIVATE_FILE_MODE)
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, "0")}`
}

function shellWord(text: string): string {
  return /^[\w./+:@%-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`
}

/**
 * One warning per entry of the data folder (the folder itself, and the files and folders
 * directly in it) that other users can read, write or enter, each naming the path, the mode
 * found and the command that fixes it. Empty when all is private, when `dir` does not exist,
 * and on Windows (no POSIX modes).
 */
export function loosePermissions(dir: string): ReadonlyArray<string> {
  if (!POSIX) return []
  const warnings: Array<string> = []
  let info: Deno.FileInfo
  try {
    info = Deno.statSync(dir)
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return []
    throw error
  }
  const check = (file: string, stat: Deno.FileInfo) => {
    const mode = stat.mode
    if (mode === null || (mode & 0o077) === 0) return
    const wanted = stat.isDirectory ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE
    const what = file === dir ? "data folder" : stat.isDirectory ? "folder" : "file"
    warnings.push(
      `${what} ${file} has mode ${octal(mode)}: other users can access it, and the data folder ` +
        `holds the sealed agent keys; fix: chmod ${octal(wanted).slice(1)} ${shellWord(file)}`,
    )
  }
  check(dir, info)
  if (!info.isDirectory) return warnings
  // Code-unit order, not `localeCompare`: that initialises ICU's collator, ~18 ms of start-up.
  const entries = [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1)
  for (const entry of entries) {
    if (entry.isSymlink) continue
    const file = path.join(dir, entry.name)
    let stat: Deno.FileInfo
    try {
      stat = Deno.statSync(file)
    } catch (error) {
      // SQLite may remove its -wal or -shm file between the listing and this stat.
      if (error instanceof Deno.errors.NotFound) continue
      throw error
    }
    check(file, stat)
  }
  return warnings
}
