// Placeholder for package.json commands whose implementation has not landed yet:
// fail loudly rather than pretend to work.
const command = process.argv[2] ?? "this command";
process.stderr.write(`${command} is not built yet: see README.md\n`);
process.exit(1);
