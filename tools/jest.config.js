// Specs of the tools' pure helpers (bench report, PNG encoder, options); never the benches themselves.
module.exports = require('../jest.preset.js').projectConfig(__dirname, 'tools');
