// Hardhat 2 configuration for ecoo.
//
// The compiler settings come from contracts/compiler.json, the single source of truth shared with
// scripts/compile.py (py-solc-x), so `npx hardhat compile` produces the same bytecode as the
// artifact shipped in src/ecoo/artifacts/. The compiler is the npm `solc` package (solcjs), so
// compiling works offline: Hardhat's own solc download is bypassed.
"use strict";

const path = require("path");
const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");

const compiler = require("./contracts/compiler.json");

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async ({ solcVersion }) => {
  if (solcVersion !== compiler.solcVersion) {
    throw new Error(
      `hardhat.config.js: asked for solc ${solcVersion}, but contracts/compiler.json pins ${compiler.solcVersion}`
    );
  }
  const npmSolcVersion = require("solc/package.json").version;
  if (npmSolcVersion !== compiler.solcVersion) {
    throw new Error(
      `hardhat.config.js: the npm 'solc' package is ${npmSolcVersion}, but contracts/compiler.json pins ` +
        `${compiler.solcVersion}; run \`npm ci\` (or update package.json and contracts/compiler.json together)`
    );
  }
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: compiler.solcVersion,
    longVersion: compiler.solcLongVersion,
  };
});

/** @type import('hardhat/config').HardhatUserConfig */
module.exports = {
  solidity: {
    version: compiler.solcVersion,
    settings: {
      evmVersion: compiler.evmVersion,
      optimizer: compiler.optimizer,
    },
  },
  paths: {
    root: __dirname,
    sources: path.join(__dirname, "contracts"),
    cache: path.join(__dirname, "cache"),
    artifacts: path.join(__dirname, "artifacts"),
  },
  networks: {
    // `npx hardhat node`: chain id 31337, a hardfork that runs the configured evmVersion.
    hardhat: {
      chainId: 31337,
      hardfork: compiler.evmVersion,
    },
  },
};
