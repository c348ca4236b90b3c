import { render } from 'preact';
import { App } from './ui/App';
import './styles.css';

render(<App />, document.getElementById('app')!);

// The service worker keeps the app itself (HTML, scripts, styles) so the register also opens
// when the gateway is unreachable; the API is never cached by it.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((err: Error) => console.warn('service worker not registered:', err.message));
}
