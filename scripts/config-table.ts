// Prints the README's configuration table from every module's settings slice (src/modules.ts).
import { CONFIG_SETTINGS } from '../src/modules.ts';

console.log('| Variable | Default | Production (NODE_ENV=production) | Meaning |\n|---|---|---|---|');
for (const setting of CONFIG_SETTINGS) {
  console.log(
    `| \`${setting.env}\` | ${setting.default === '' ? '(empty)' : `\`${setting.default}\``} | ${setting.production ? `**${setting.production}**` : ''} | ${setting.description} |`,
  );
}
