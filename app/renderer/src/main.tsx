import { createRoot } from 'react-dom/client';

function App() {
  return <main aria-label="Nestbox">Nestbox</main>;
}

createRoot(document.getElementById('root')!).render(<App />);
