/** The MoMo simulator, for tests and the local stack: `startMomoSimulator(options)`. */
export {
  type FaultConfig,
  type FaultKind,
  type MomoSimulator,
  type MomoSimulatorOptions,
  type ScriptedFault,
  type SimRoute,
  type SimulatorCredentials,
  type SimulatorStats,
  startMomoSimulator,
} from './server';
export type {
  AdvanceOptions,
  AdvanceSummary,
  LinkState,
  SeedWalletsOptions,
  TransactionSpec,
  TruthTransaction,
  WalletSpec,
  WalletTruth,
} from './world';
