import { Migration20261126000000Foundation } from './Migration20261126000000Foundation.js';
import { Migration20261126010000DangerousGoods } from './Migration20261126010000DangerousGoods.js';

/** Listed explicitly: the migrator never globs the file system, so tsx, tsc output and bundles behave alike. */
export const migrationsList = [
  { name: 'Migration20261126000000Foundation', class: Migration20261126000000Foundation },
  { name: 'Migration20261126010000DangerousGoods', class: Migration20261126010000DangerousGoods },
];
