import { createRoot } from 'react-dom/client';
import { App } from './App';
import { createAppClient } from './bridge';
import { createStores } from './stores';
import './styles.css';

const stores = createStores(createAppClient());
// Ask for the library before React's first render, so the data and the shell arrive together.
stores.start();
createRoot(document.getElementById('root')!).render(<App stores={stores} />);
