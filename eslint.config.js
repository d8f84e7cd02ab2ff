// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'build/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read the environment in src/inputs.ts only.' },
      ],
    },
  },
  {
    files: [
      'src/inputs.ts',
      'test/**/*.ts',
      'emulator/**/*.ts',
      'reliability/**/*.ts',
      'bench/**/*.ts',
      'demo/**/*.ts',
      'scripts/**/*.ts',
      '*.config.ts',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
);
