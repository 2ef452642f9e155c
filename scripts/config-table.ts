// Prints the README's configuration table from the settings in src/platform/config.ts.
import { CONFIG_SETTINGS } from '../src/modules.ts';

console.log('| Variable | Default | Meaning |\n|---|---|---|');
for (const setting of CONFIG_SETTINGS) {
  console.log(
    `| \`${setting.env}\` | ${setting.default === '' ? '(empty)' : `\`${setting.default}\``} | ${setting.description} |`,
  );
}
