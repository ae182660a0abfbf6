import { createContext, useContext, type ReactNode } from 'react';
import { useStore } from 'zustand';
import type { ApiClient } from '../../../api';
import type { HostState, ImagesState, Stores, TasksState, UiState, VmsState } from './index';

const Ctx = createContext<Stores | null>(null);

export function StoresProvider({ stores, children }: { stores: Stores; children: ReactNode }) {
  return <Ctx.Provider value={stores}>{children}</Ctx.Provider>;
}

export function useStores(): Stores {
  const s = useContext(Ctx);
  if (!s) throw new Error('StoresProvider is missing');
  return s;
}

export const useApi = (): ApiClient => useStores().client;
export const useVms = <T,>(sel: (s: VmsState) => T): T => useStore(useStores().vms, sel);
export const useImages = <T,>(sel: (s: ImagesState) => T): T => useStore(useStores().images, sel);
export const useTasks = <T,>(sel: (s: TasksState) => T): T => useStore(useStores().tasks, sel);
export const useHost = <T,>(sel: (s: HostState) => T): T => useStore(useStores().host, sel);
export const useUi = <T,>(sel: (s: UiState) => T): T => useStore(useStores().ui, sel);
