import { createRoot } from 'react-dom/client';
import { App } from './App';
import { createAppClient } from './bridge';
import { createStores } from './stores';
import './styles.css';

const stores = createStores(createAppClient());
createRoot(document.getElementById('root')!).render(<App stores={stores} />);
