import { createStore } from "../../src/index.browser.js";
import { contractSuite } from "../shared/contract.js";

contractSuite({ name: "memory (chromium)", make: (options) => createStore("memory://", options) });
