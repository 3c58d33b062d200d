// Every command of `quilt`, in the order `quilt --help` lists them: the usage line and the
// one-line description here, the options and handler in the module each entry loads when
// yargs picks it (command.ts), so listing the commands imports none of them.
import type { CommandEntry } from "./command.js";

export const COMMANDS: CommandEntry[] = [
  {
    command: "hash [dir]",
    describe:
      "Print the top hash of an installed package or of the version a quilt mount serves, of a manifest file, or the entry hash of a file",
    load: async () => (await import("./hash-command.js")).hashCommand,
  },
  // Consumer commands: use a package version.
  {
    command: "install <name>",
    describe: "Download a package version into a directory (only what is missing or changed)",
    load: async () => (await import("./install-command.js")).installCommand,
  },
  {
    command: "status [dir]",
    describe: "Show the package installed in a directory (or the builder workspace) and what changed",
    load: async () => (await import("./status-command.js")).statusCommand,
  },
  {
    command: "verify <dir>",
    describe: "Check that a directory holds exactly the files of its package version (exit 1 if not)",
    load: async () => (await import("./verify-command.js")).verifyCommand,
  },
  {
    command: "force-match <dir>",
    describe: "Make an installed directory match its package version: remove, replace and fetch files",
    load: async () => (await import("./force-match-command.js")).forceMatchCommand,
  },
  {
    command: "ls <name> [prefix]",
    describe: "List the files and directories at the top of a package or under a prefix",
    load: async () => (await import("./ls-command.js")).lsCommand,
  },
  {
    command: "cat <name> [key]",
    describe: "Write the bytes of a file of a package to stdout",
    load: async () => (await import("./cat-command.js")).catCommand,
  },
  {
    command: "readme <name>",
    describe: "Print the README of a package",
    load: async () => (await import("./readme-command.js")).readmeCommand,
  },
  {
    command: "meta <name> [key]",
    describe: "Print the user metadata of a package, or of one of its files or directories, as JSON",
    load: async () => (await import("./meta-command.js")).metaCommand,
  },
  {
    command: "list",
    describe: "List the packages in a registry",
    load: async () => (await import("./list-command.js")).listCommand,
  },
  {
    command: "log <name>",
    describe:
      "List the versions of a package, newest first, with time, top hash, tags and push message " +
      "(read from each manifest's first line, which is not verified against the top hash)",
    load: async () => (await import("./log-command.js")).logCommand,
  },
  {
    command: "diff <a> <b>",
    describe: "Show the files added, removed and changed from one package version to another",
    load: async () => (await import("./diff-command.js")).diffCommand,
  },
  {
    command: "tag <version> <tag>",
    describe: "Point a tag at a version of a package",
    load: async () => (await import("./tag-command.js")).tagCommand,
  },
  {
    command: "delete <spec>",
    describe: "Delete a package version, a tag, or a whole package (pointers only; data stays)",
    load: async () => (await import("./delete-command.js")).deleteCommand,
  },
  {
    command: "cache <action> [name] [prefix..]",
    describe:
      "Show, clear or fill the data cache ($QUILT_CACHE_DATA_DIR; shared by the library, installs and mounts)",
    load: async () => (await import("./cache-command.js")).cacheCommand,
  },
  {
    command: "manifest <action> <name>",
    describe:
      "Export a package version's entries as a table (Parquet or JSON Lines) for Spark, Dask, Ray Data",
    load: async () => (await import("./manifest-command.js")).manifestCommand,
  },
  // Builder workflow: a workspace (quilt init) becomes a package version.
  {
    command: "init <name>",
    describe: "Start building package NAME in the current directory (a workspace; state in .quilt/)",
    load: async () => (await import("./init-command.js")).initCommand,
  },
  {
    command: "add <path> [logical]",
    describe: "Add a local file or directory, or an S3 object or prefix, to the workspace's package",
    load: async () => (await import("./add-command.js")).addCommand,
  },
  {
    command: "set <key> <source>",
    describe: "Set one entry of the workspace's package to a local file or an S3 object",
    load: async () => (await import("./set-command.js")).setCommand,
  },
  {
    command: "set-meta <key> <metadata>",
    describe: "Set the user metadata of an entry, a directory (dir/) or the package (.)",
    load: async () => (await import("./set-meta-command.js")).setMetaCommand,
  },
  {
    command: "mv <from> <to>",
    describe: "Move a directory (with everything under it) or an entry to another logical key",
    load: async () => (await import("./mv-command.js")).mvCommand,
  },
  {
    command: "rm <key>",
    describe: "Remove an entry or a directory from the workspace's package (the data itself stays)",
    load: async () => (await import("./rm-command.js")).rmCommand,
  },
  {
    command: "build-manifest",
    describe: "Hash the workspace's data and print the package's top hash",
    load: async () => (await import("./build-manifest-command.js")).buildManifestCommand,
  },
  {
    command: "push-data",
    describe: "Copy the workspace's data into the registry under a prefix (unchanged data is skipped)",
    load: async () => (await import("./push-data-command.js")).pushDataCommand,
  },
  {
    command: "push-manifest",
    describe: "Build the manifest if needed and register it in the registry as a package version",
    load: async () => (await import("./push-manifest-command.js")).pushManifestCommand,
  },
  {
    command: "push",
    describe: "Push the workspace's data and then its manifest (push-data + push-manifest)",
    load: async () => (await import("./push-command.js")).pushCommand,
  },
  // Lazy mounts: the daemon serves package versions through FUSE.
  {
    command: "mount <name> <dir>",
    describe: "Mount a package version read-only at DIR; only the bytes programs read are downloaded",
    load: async () => (await import("./mount-command.js")).mountCommand,
  },
  {
    command: "unmount <dir>",
    describe: "Unmount a package mounted with quilt mount",
    load: async () => (await import("./mount-command.js")).unmountCommand,
  },
  {
    command: "mounts",
    describe:
      "List mounted packages with cache fill and bytes read (and, with no daemon running, those the next daemon start restores)",
    load: async () => (await import("./mount-command.js")).mountsCommand,
  },
  {
    command: "switch <dir> [spec]",
    describe:
      "Move a mount to another version or tag in one step (or back with --previous); open files finish with the old bytes",
    load: async () => (await import("./switch-command.js")).switchCommand,
  },
  {
    command: "daemon <action>",
    describe: "Start, stop or inspect the background daemon that holds mounts and the cache",
    load: async () => (await import("./daemon-command.js")).daemonCommand,
  },
];
