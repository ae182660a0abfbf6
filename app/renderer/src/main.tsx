// First: the connection and the library request (see boot.ts), before React and the views are evaluated.
import { firstLibrary, stores } from './boot';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import './styles.css';

// One first render with the VMs in it, instead of an empty library and a second render a moment later: the list is
// usually here by the time React is ready; a slow engine gets a quarter of a second before the page shows without it.
await firstLibrary(250);
createRoot(document.getElementById('root')!).render(<App stores={stores} />);
