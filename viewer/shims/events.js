// Browser stand-in for node's "events", required (never used on this page) by xmlbuilder2,
// which vtk.js pulls in for its XML writers.
export class EventEmitter {
  on() { return this; }
  once() { return this; }
  off() { return this; }
  emit() { return false; }
  removeListener() { return this; }
}
export default EventEmitter;
